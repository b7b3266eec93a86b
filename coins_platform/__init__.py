"""The coins platform as other teams use it: `coins_platform.testing` runs it in their tests."""
