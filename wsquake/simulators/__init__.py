"""Simulated clients: glasses and app-server fleets that record a typed history."""
