"""Hypetech: the webhook adapter, its ``Hype-Hash`` signature (with JavaScript's JSON
serialization), RFC 7807 problems, the outbound client, its CLI group and its simulator
client."""
