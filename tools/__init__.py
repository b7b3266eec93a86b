"""Developer tools that measure the code itself (not the running platform): `follow_gift`."""
