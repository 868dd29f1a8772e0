/// What a statement that sends no single query does, step by step, for `explain`: the keys it
/// writes and the commands it sends, with the settings it would run with.
enum StatementSteps {
    static func load(_ load: LoadStatement, layout: StorageLayout, settings: ExecutionSettings) -> [String] {
        let chunk = load.chunkSize ?? settings.chunkSize
        let connections = load.connections ?? settings.connections
        let window = load.window ?? settings.window
        let prefix = layout.prefix
        let walk =
            load.recursive
            ? "and its subdirectories" : "(not its subdirectories: `recursive` adds them)"
        let wait =
            settings.replicas > 0
            ? "WAIT \(settings.replicas) on each master it wrote to: the writes reached \(settings.replicas) replica(s)"
            : "WAITAOF on each master it wrote to: the writes reached the append-only file (where there is one)"
        return [
            "load reads the files at '\(load.path.text)' \(walk), maps each and takes its SHA-256, its id",
            "the index \(layout.indexName) is created first if it is missing (FT.CREATE), or rebuilt if it is from an older dql",
            "a file whose id is already stored is not sent again, nor one that another load is storing at the same moment",
            "new files under \(size(4 << 20)) go in batches of up to \(LoadPipeline.maximumFiles) files or \(size(LoadPipeline.maximumBytes)): one pipeline of claims (SET \(prefix):{m}:loading:<id> NX EX, with EXISTS of the document), then every chunk of \(size(chunk)) as SET \(prefix):chunk:<id>:<n> over \(connections) connection(s), \(window) commands in flight each",
            "then one EVAL per file checks its claim and writes the document \(prefix):{m}:file:<id> (JSON.SET): the file becomes visible only once all its chunks are stored",
            "larger files go one at a time the same way, their chunks uploaded while they are hashed",
            "at the end: \(wait)",
            "if it is stopped part way, the files in progress are rolled back; chunks a killed load leaves behind are removed by `vacuum` once its claim expires",
        ]
    }

    static func vacuum(layout: StorageLayout) -> [String] {
        let prefix = layout.prefix
        return [
            "vacuum scans every master for \(prefix):chunk:<id>:<n> keys (SCAN MATCH, COUNT 1000)",
            "for each id, one EXISTS of \(prefix):{m}:file:<id> and \(prefix):{m}:loading:<id>: chunks with neither a document nor a live load's claim are orphans",
            "the orphans' chunks are deleted (UNLINK); stored files and loads under way are left alone",
        ]
    }

    static func migrate(layout: StorageLayout) -> [String] {
        let prefix = layout.prefix
        return [
            "only on a cluster, for a store made before metadata spread (every document and the index in the {m} slot)",
            "\(prefix):{m}:placement is set to migrating: statements that change the store are refused until the move is done, and queries ask \(prefix):{m}:idx and every \(prefix):idx:{s*}",
            "the bucket indexes are created on the masters of their slots (FT.CREATE)",
            "studies move whole, about 1000 documents a step: each document is copied to \(prefix):stage:{sB-N}:<id> (JSON.GET, JSON.SET), then the step is recorded in \(prefix):{m}:migration:step and, with the epoch of \(prefix):{m}:migration odd, the copies are renamed to \(prefix):doc:{sB-N}:<id> and the {m} documents deleted; queries that see the epoch change ask again",
            "when \(prefix):{m}:idx holds nothing, the placement is set to spread and \(prefix):{m}:idx dropped (FT.DROPINDEX, keeping nothing else)",
            "stopped part way, the store stays readable; migrate again finishes a recorded step and goes on",
        ]
    }

    private static func size(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
    }
}
