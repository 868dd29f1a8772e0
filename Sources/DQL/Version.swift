public enum DQLVersion { public static let current = "0.1.0" }
