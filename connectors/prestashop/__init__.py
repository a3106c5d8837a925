"""PrestaShop (1.7.8, 8.x, 9.x) webservice support. So far only the faithful simulator
(simulator.py and sim_*.py); the connector itself (client, mapping, writer) is still to come."""
