"""Supply chain: suppliers, plants, distribution centres, retailers, trucks and demand."""
