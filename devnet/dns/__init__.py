"""devnet's DNS service: names from Docker, a zone, a server, an upstream forwarder."""
