"""Shared test helpers of the unit tests: canned hosts (what ufw, firewalld and nft would
answer, under tmp_path) and the golden-file check. Test files import from here, never from
each other."""
