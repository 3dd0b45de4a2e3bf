"""Donors, donations, laptops and their lifecycle, data-wipe records, repairs."""
