# Empty dependencies file for test_strict_ranges.
# This may be replaced when dependencies are built.
