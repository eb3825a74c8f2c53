package main

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	_ "golang.org/x/image/webp" // registers WebP with package image, for pdq.Decode

	"github.com/canopy-org/canopy/internal/pdq"
)

// hashLine is one file's hashes, in the order of the reference tools'
// output (PDQ, quality), extended with the exact hashes.
type hashLine struct {
	PDQ     string `json:"pdq"`
	Quality int    `json:"quality"`
	MD5     string `json:"md5"`
	SHA256  string `json:"sha256"`
	Path    string `json:"path"`
}

// runHash handles `canopy hash [--json] FILE…`: one line per image, and a
// clear error per file it cannot hash; it fails if any file failed.
func runHash(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("canopy hash", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON lines instead of PDQ_HEX,QUALITY,MD5_HEX,SHA256_HEX,PATH")
	maxPixels := fs.Int("max-pixels", pdq.DefaultMaxPixels, "refuse images with more pixels than this")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: canopy hash [--json] FILE…\nPrints PDQ_HEX,QUALITY,MD5_HEX,SHA256_HEX,PATH for each JPEG, PNG, GIF or WebP file.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	failed := 0
	enc := json.NewEncoder(stdout)
	for _, path := range fs.Args() {
		line, err := hashFile(path, *maxPixels)
		if err != nil {
			fmt.Fprintf(stderr, "canopy hash: %s: %v\n", path, err)
			failed++
			continue
		}
		if *asJSON {
			enc.Encode(line)
		} else {
			fmt.Fprintf(stdout, "%s,%d,%s,%s,%s\n", line.PDQ, line.Quality, line.MD5, line.SHA256, line.Path)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be hashed", failed, fs.NArg())
	}
	return nil
}

// hashFile reads the file once: the exact hashes see every byte while the
// decoder reads what it needs, and the rest is read through after.
func hashFile(path string, maxPixels int) (*hashLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // the path is printed already
	}
	defer f.Close()
	m, s := md5.New(), sha256.New()
	tee := io.TeeReader(f, io.MultiWriter(m, s))
	img, err := pdq.Decode(tee, maxPixels)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, err
	}
	h, quality, err := pdq.FromImage(img)
	if err != nil {
		return nil, err
	}
	return &hashLine{PDQ: h.String(), Quality: quality, MD5: hex.EncodeToString(m.Sum(nil)),
		SHA256: hex.EncodeToString(s.Sum(nil)), Path: path}, nil
}
