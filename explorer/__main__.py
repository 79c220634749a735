"""python -m explorer: start the app on http://127.0.0.1:7860."""
from .space import main

main()
