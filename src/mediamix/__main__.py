from mediamix.cli.app import main

main()
