"""The JTL-Wawi connector (API v1, on-premise and JTL Cloud) and its simulator."""
