"""What every service of the platform shares to be seen: its logs, one JSON object per line."""
