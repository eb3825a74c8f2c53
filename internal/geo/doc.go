// Package geo tells which country an IP address is in, so that a report of
// abuse material can be routed to the hotline of the jurisdiction where the
// content is hosted: that hotline can ask the hosting provider for removal
// and reach the police who can act on it.
//
// The answer comes from a MaxMind DB (.mmdb) file that the operator of a
// node installs, such as GeoLite2-Country or DB-IP's free country database;
// any database whose records carry country.iso_code or
// registered_country.iso_code will do. Canopy ships none: those databases
// come under their vendors' licences and go stale within weeks, so the
// operator chooses one and keeps it up to date. A node without a database
// still works: routing falls back to the child's country, if given, or
// leaves the decision to an analyst.
//
// The reader is written from the published format specification
// (https://maxmind.github.io/MaxMind-DB/) rather than imported, because a
// country lookup needs a small part of the format and the file comes from
// outside: the code here checks every offset against the file, follows at
// most one pointer at a time, and bounds every walk, so a corrupt or hostile
// file yields an error, never a crash or a hang. It reads the whole file
// into memory, which for a country database is a few megabytes.
package geo
