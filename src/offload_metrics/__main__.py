"""python -m offload_metrics: the command line, as the console script offload-metrics."""

from offload_metrics.cli import main

main()
