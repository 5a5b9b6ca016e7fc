import VeloraCLI

VeloraCLI.main()
