"""Route planning: truck routes from a vehicle-routing solver."""
