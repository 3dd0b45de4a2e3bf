"""Donors, donations, laptops and their lifecycle: built in the inventory issue."""
