"""IGPX sportsbook: the callback adapter, the outbound client, its CLI group and its
simulator client."""
