/// The release of Spor this build is: `spor --version`, `spor-server --version`, the
/// client name a workspace sends in HELLO and the server's `spor_build_info` metric.
/// One number for the client, the server and the protocol they speak.
public enum SporRelease {
    public static let version = "0.3.0"

    /// "spor 0.3.0", "spor-server 0.3.0": what a program calls itself in HELLO and logs.
    public static func name(of program: String) -> String { "\(program) \(version)" }
}
