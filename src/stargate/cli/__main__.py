from stargate.cli.main import main

main()
