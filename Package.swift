// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "dql",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dql", targets: ["Shell"]),
        .executable(name: "dql-bench", targets: ["Bench"]),
        .executable(name: "dql-decode", targets: ["DecodeHelper"]),
        .library(name: "DQL", targets: ["DQL"]),
        .library(name: "RedisIO", targets: ["RedisIO"]),
        .library(name: "DicomCore", targets: ["DicomCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The HTTP server under `dql serve` (SwiftNIO underneath): streaming bodies both ways.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // HTTP request and response parts in the server's channel pipeline (Hummingbird's own).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    ],
    targets: [
        // C libraries from Debian (libhiredis-dev, libedit-dev, zlib1g-dev, glibc), imported as system modules.
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis"),
        .systemLibrary(name: "CEditLine", path: "Sources/CEditLine"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CIconv", path: "Sources/CIconv"),
        // OpenSSL 3 (Debian's libssl-dev) for rediss:// connections.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        // glibc functions Swift's Glibc module hides (posix_spawn's closefrom, openpty, fallocate).
        .systemLibrary(name: "CSystemCalls", path: "Sources/CSystemCalls"),
        // xxHash (Debian's libxxhash-dev): the XXH3-64 checksum fetched bytes are checked against.
        .systemLibrary(name: "CXXHash", path: "Sources/CXXHash"),
        // A SIGBUS guard for read-only file mappings (a file truncated while it is mapped).
        .target(name: "CMappingGuard", path: "Sources/CMappingGuard"),

        // Redis protocol and transport over hiredis. Knows nothing about DICOM.
        .target(name: "RedisIO", dependencies: ["CHiredis", "COpenSSL"]),
        // DICOM Part 10 reading. Knows nothing about Redis.
        .target(name: "DicomCore", dependencies: ["CZlib", "CIconv", "CMappingGuard"]),
        // Images in, pixels out: frames decoded from a file's pixel data, the display pipeline
        // (rescale, window, photometric interpretation), PNG and terminal pictures. No Redis.
        .target(name: "DicomImage", dependencies: ["DicomCore", "CZlib", "CJPEG", "CJPEG2000", "CSixel", "CSystemCalls"]),
        // `dql-decode`: GDCM in a process of its own (see DecoderProcess).
        .executableTarget(name: "DecodeHelper", dependencies: ["CGDCM"], path: "Sources/DecodeHelper"),
        // JPEG baseline, extended and lossless, JPEG-LS and RLE through GDCM (Debian's
        // libgdcm-dev), behind a small C interface.
        .target(
            name: "CGDCM", path: "Sources/CGDCM",
            cxxSettings: [.unsafeFlags(["-I/usr/include/gdcm-3.0"])],
            linkerSettings: [
                .linkedLibrary("gdcmMSFF"), .linkedLibrary("gdcmDSED"), .linkedLibrary("gdcmCommon"),
                .linkedLibrary("stdc++"),
            ]),
        // 8-bit JPEG through libjpeg-turbo (Debian's libjpeg62-turbo-dev), decoded from memory.
        .target(name: "CJPEG", path: "Sources/CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // Sixel escape sequences through libsixel (Debian's libsixel-dev), for terminals that show them.
        .target(name: "CSixel", path: "Sources/CSixel", linkerSettings: [.linkedLibrary("sixel")]),
        // JPEG 2000 through OpenJPEG (Debian's libopenjp2-7-dev), decoded from memory.
        .target(name: "CJPEG2000", path: "Sources/CJPEG2000", linkerSettings: [.linkedLibrary("openjp2")]),
        // The query language, its compiler and executor, the storage layout.
        .target(
            name: "DQL",
            dependencies: [
                "RedisIO", "DicomCore", "DicomImage", "CSystemCalls", "CXXHash", .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // DICOMweb (PS3.18) over the store: QIDO-RS, WADO-RS and STOW-RS answered by the DQL
        // executor, levels and loader, served by `dql serve`.
        .target(
            name: "DICOMweb",
            dependencies: [
                "DQL", "RedisIO", "DicomCore", "DicomImage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        // The shell's logic: command line, session loop, statement reader, line editor and
        // completion, meta-commands, rendering, settings. Tested in-process.
        .target(
            name: "ShellCore",
            dependencies: [
                "DQL", "DICOMweb", "RedisIO", "DicomCore", "DicomImage", "CEditLine", "CSystemCalls",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The `dql` executable: a thin entry point into ShellCore.
        .executableTarget(
            name: "Shell",
            dependencies: ["ShellCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // `dql-bench`: dql against its baselines, side by side.
        .executableTarget(
            name: "Bench",
            dependencies: [
                "DicomCore", "DicomImage", "RedisIO", "DQL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        .target(name: "TestSupport", dependencies: ["RedisIO", "CSystemCalls"], path: "Tests/TestSupport"),
        .testTarget(name: "RedisIOTests", dependencies: ["RedisIO", "TestSupport"]),
        .testTarget(name: "DicomCoreTests", dependencies: ["DicomCore", "TestSupport"]),
        .testTarget(
            name: "DicomImageTests",
            dependencies: ["DicomImage", "DicomCore", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "DQLTests", dependencies: ["DQL", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "DICOMwebTests", dependencies: ["DICOMweb", "DQL", "DicomCore", "TestSupport"]),
        .testTarget(name: "ShellCoreTests", dependencies: ["ShellCore", "DQL", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Shell", "TestSupport", "CSystemCalls", .product(name: "Crypto", package: "swift-crypto")]),
    ],
    swiftLanguageModes: [.v6]
)
