// Package canopy holds the domain of a Canopy node: the reports that
// children, caregivers, professionals and partners send, the events on
// each report's timeline, the harmonised taxonomy, and the one error type
// every layer speaks. It imports nothing else from the project, so the
// adapters (store, web, api, federation) depend on it and never on each
// other.
package canopy
