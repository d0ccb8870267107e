"""Browser end-to-end tests of the example shop, deployed as real processes."""
