# Empty dependencies file for test_regions.
# This may be replaced when dependencies are built.
