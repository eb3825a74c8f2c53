package preview

import "encoding/binary"

// maxSegments bounds how many JPEG segments exifOrientation looks at
// before giving up. The Exif APP1 segment comes first or second in every
// file cameras and editors write; only a crafted file would have it later.
const maxSegments = 32

// exifOrientation returns the EXIF orientation (1 to 8) of the JPEG in b,
// or 1 when it has none or it cannot be read. It reads tag 0x0112 of IFD0
// in the first Exif APP1 segment before the scan and nothing else, and
// never reads outside b.
func exifOrientation(b []byte) int {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return 1
	}
	p := 2
	for range maxSegments {
		// Markers may be preceded by any number of 0xff fill bytes.
		for p+1 < len(b) && b[p] == 0xff && b[p+1] == 0xff {
			p++
		}
		if p+4 > len(b) || b[p] != 0xff {
			return 1
		}
		marker := b[p+1]
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[p+2:]))
		if n < 2 || p+2+n > len(b) {
			return 1
		}
		seg := b[p+4 : p+2+n]
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 1
}

// tiffOrientation reads the orientation from the TIFF structure that
// follows an APP1 segment's "Exif\0\0", or returns 1.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(t[4:])) // int64: the offset may be near 4 GiB
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 1
	}
	count := int64(bo.Uint16(t[ifd:]))
	for i := range count {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(t)) {
			return 1
		}
		tag, typ, n := bo.Uint16(t[e:]), bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if tag != 0x0112 {
			continue
		}
		// A SHORT, one of it, held in the entry itself.
		if typ != 3 || n != 1 {
			return 1
		}
		if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
			return o
		}
		return 1
	}
	return 1
}
