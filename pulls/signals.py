"""Schedule sync signals (filled in by the pull-configuration work)."""
