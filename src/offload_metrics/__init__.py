"""offload-metrics: measure how an organisation offloads routine work to AI agents."""

__version__ = "0.1.0"
