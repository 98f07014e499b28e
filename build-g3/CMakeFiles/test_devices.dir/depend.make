# Empty dependencies file for test_devices.
# This may be replaced when dependencies are built.
