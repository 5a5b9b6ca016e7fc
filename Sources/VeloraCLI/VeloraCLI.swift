public enum VeloraCLI { public static func main() {} }
