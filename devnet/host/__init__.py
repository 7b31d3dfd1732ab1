"""The developer's machine: routes (and later resolver and firewall), one module per OS."""
