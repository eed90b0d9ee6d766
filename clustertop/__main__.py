from clustertop.cli import main

# Guarded: worker processes (spawn) import the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
