"""Surviving the corporate VPN: find and repair what its client broke; the sim's client."""
