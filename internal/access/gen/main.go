// Command gen writes docs/permissions.md from the permission matrix.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/canopy-org/canopy/internal/access"
)

func main() {
	out := flag.String("out", "docs/permissions.md", "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, []byte(access.Markdown()), 0o644); err != nil {
		log.Fatal(err)
	}
}
