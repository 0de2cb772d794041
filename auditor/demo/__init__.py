"""The demo fleet and its policy, shipped with the package (links to inventories/ and policies/)."""
