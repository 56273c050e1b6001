from lynkr_cli.cli import main

main()
