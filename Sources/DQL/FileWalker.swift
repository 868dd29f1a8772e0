import DicomCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The files a `load` path names: the file itself, or the regular files in a directory
/// (sorted; with `recursive`, in its subdirectories too; hidden names skipped). Nothing is
/// opened while walking: FIFOs, devices and sockets are reported as "not a regular file"
/// from their metadata; each real directory and file is visited once however many symbolic
/// links lead to it, so link cycles end; a directory that cannot be read is reported and
/// the walk goes on.
struct FileWalker {
    /// A file to load, with its size, its base name and the absolute path it is loaded from
    /// (the path as given is kept for messages).
    struct Entry: Sendable, Equatable {
        var path: String
        var size: Int
        var name: String
        /// Absolute, without `.` or `..`: what the document records under `sources`.
        var source: String
    }

    /// What the walk found: files to load, and paths it had to pass over with the reason.
    struct Walk: Sendable, Equatable {
        var files: [Entry] = []
        var skipped: [(path: String, reason: String)] = []
        /// Names starting with `.` left out (hidden files and directories, by convention).
        var hidden = 0
        /// Subdirectories not walked (the load was not `recursive`).
        var subdirectoriesLeft = 0

        static func == (lhs: Walk, rhs: Walk) -> Bool {
            lhs.files == rhs.files && lhs.hidden == rhs.hidden && lhs.subdirectoriesLeft == rhs.subdirectoriesLeft
                && lhs.skipped.elementsEqual(rhs.skipped) { $0 == $1 }
        }
    }

    private struct Identity: Hashable {
        var device: UInt
        var inode: UInt
    }

    private var visited: Set<Identity> = []
    private var walk = Walk()

    /// Walks `path`. Throws only when `path` itself cannot be looked at.
    static func walk(_ path: String, recursive: Bool) throws(WalkError) -> Walk {
        var walker = FileWalker()
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw WalkError(path: path, reason: systemMessage(errno))
        }
        // Made absolute and standard once: each file's source is then its directory's plus its
        // name (URL per file took a twentieth of a load of tiny files).
        let source = Self.standardized(path)
        if (status.st_mode & S_IFMT) == S_IFDIR {
            walker.visit(directory: path, source: source, status: status, recursive: recursive)
        } else {
            walker.visit(file: path, name: URL(fileURLWithPath: path).lastPathComponent, source: source, status: status)
        }
        return walker.walk
    }

    /// `path` made absolute (from the working directory), without `.` and `..` components.
    static func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    private mutating func visit(file path: String, name: String, source: String, status: stat) {
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            walk.skipped.append((path, "not a regular file (\(fileKind(status.st_mode)))"))
            return
        }
        guard visited.insert(Identity(device: UInt(status.st_dev), inode: UInt(status.st_ino))).inserted else { return }
        walk.files.append(Entry(path: path, size: Int(status.st_size), name: name, source: source))
    }

    private mutating func visit(directory path: String, source: String, status: stat, recursive: Bool) {
        guard visited.insert(Identity(device: UInt(status.st_dev), inode: UInt(status.st_ino))).inserted else { return }
        guard let handle = opendir(path) else {
            walk.skipped.append((path, "cannot read the directory: " + systemMessage(errno)))
            return
        }
        var names: [String] = []
        while let entry = readdir(handle) {
            let bytes = Self.name(of: entry)
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let shown = String(decoding: bytes, as: UTF8.self)
                walk.skipped.append(((path.hasSuffix("/") ? path : path + "/") + shown, "the name is not valid UTF-8"))
                continue
            }
            if name == "." || name == ".." { continue }
            if name.hasPrefix(".") { walk.hidden += 1 } else { names.append(name) }
        }
        closedir(handle)
        let base = path.hasSuffix("/") ? path : path + "/"
        for name in names.sorted() {
            let child = base + name
            let childSource = PathText.join(source, name)
            var childStatus = stat()
            // Following links: a link to a file loads the file, a link to a directory walks it.
            guard stat(child, &childStatus) == 0 else {
                walk.skipped.append((child, systemMessage(errno)))
                continue
            }
            if (childStatus.st_mode & S_IFMT) == S_IFDIR {
                if recursive {
                    visit(directory: child, source: childSource, status: childStatus, recursive: true)
                } else {
                    walk.subdirectoriesLeft += 1
                }
            } else {
                visit(file: child, name: name, source: childSource, status: childStatus)
            }
        }
    }
}

extension FileWalker {
    /// The name in a directory entry, read in place: the kernel sizes each entry to its name,
    /// so copying the whole `dirent` (its 256-byte name array) can read past the end of the
    /// buffer `readdir` filled (measured: a segmentation fault in a directory of 5,000 files).
    static func name(of entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
        guard let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) else { return [] }
        let start = UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self)
        return Array(UnsafeRawBufferPointer(start: start, count: strlen(start)))
    }
}

/// A `load` path that cannot be looked at.
struct WalkError: Error, Sendable, Equatable {
    var path: String
    var reason: String
}
