"""Invoke collections, one module per namespace. Tasks only parse, call devnet, report."""
