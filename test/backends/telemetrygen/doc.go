// Package telemetrygen pins contrib's telemetrygen as a Go tool: it needs a newer collector than
// Jaeger does, so it lives in a module of its own. v0.161.0 is the newest version the module
// proxy reachable here serves (v0.162.0 to v0.165.1 answer 403).
package telemetrygen
