# Empty dependencies file for bench_h2d.
# This may be replaced when dependencies are built.
