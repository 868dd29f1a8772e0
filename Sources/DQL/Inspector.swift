import RedisIO

/// What the store holds, for `stats`, `fields` and Tab completion: totals, every server's
/// share, and the values stored in a field. Commands come from the compiler's plans.
struct Inspector {
    let client: RedisClient
    let layout: StorageLayout
    let compiler: Compiler
    let runner: SearchRunner

    /// `stats`: files and bytes from the index (zero when there is no dql data yet), then
    /// every server's keys and memory.
    func stats(_ plan: StatsPlan, hasIndex: Bool, context: StatementContext) throws -> StoreStats {
        var files = 0
        var bytes = 0
        var indexMemory = 0
        var documentMemory = 0
        var indexFailures = 0
        if hasIndex {
            files = try SearchPage(runner.query(plan.filesCommand, context: context), returning: false).total
            let row = try AggregateRows(runner.query(plan.bytesCommand, context: context)).rows.first
            bytes = Int(row?["bytes"].flatMap(Double.init) ?? 0)
            if layout.placement == .single {
                (indexMemory, documentMemory, indexFailures) = try context.profile.measure(.query) {
                    try client.withConnection(routedBy: layout.metadataRoutingKey) { try metadataMemory($0) }
                }
            }
        }
        var perMaster: [String: (documents: Int, index: Int)] = [:]
        if hasIndex, layout.placement.usesBuckets {
            // Each bucket's index on its master (and, during a `migrate`, the `{m}` index): its
            // documents, memory and failures; a
            // document's memory from a sample of up to 500.
            for shard in try layout.searchShards(client) {
                let info = try shard.pool.withConnection { try $0.call("FT.INFO", shard.index).pairs ?? [] }
                func number(_ name: String) -> Double {
                    info.first { $0.name == name }.flatMap {
                        $0.value.integer.map(Double.init) ?? $0.value.string.flatMap(Double.init)
                    } ?? 0
                }
                let index = Int(number("total_index_memory_sz_mb") * 1_048_576)
                perMaster[shard.endpoint, default: (0, 0)].documents += Int(number("num_docs"))
                perMaster[shard.endpoint, default: (0, 0)].index += index
                indexMemory += index
                indexFailures += Int(number("hash_indexing_failures"))
            }
            let sample = try SearchPage(
                runner.query(
                    ["FT.SEARCH", layout.indexName, "*", "NOCONTENT", "LIMIT", "0", "500", "DIALECT", "2"],
                    context: context), returning: false
            ).documents.map(\.key)
            let sizes = try client.pipeline(
                sample.map { RedisCommand("MEMORY", "USAGE", $0, "SAMPLES", "0") }, routedBy: sample)
            documentMemory = sample.isEmpty ? 0 : sizes.reduce(0) { $0 + Int($1.integer ?? 0) } / sample.count
        }
        let endpoint = try client.pool(forKey: layout.metadataRoutingKey).configuration.url.endpoint
        var shards = try context.profile.measure(.query) {
            try client.shards.map { shard in
                try client.pool(host: shard.host, port: shard.port).withConnection { connection in
                    let keys = try connection.call("DBSIZE").integer ?? 0
                    let memory = try connection.call("INFO", "memory").string ?? ""
                    let used =
                        memory.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
                        .flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
                    return ShardStats(
                        endpoint: shard.endpoint, slots: client.isCluster ? shard.slotList : "", keys: Int(keys),
                        memory: used)
                }
            }
        }
        for index in shards.indices {
            if layout.placement.usesBuckets {
                let share = perMaster[shards[index].endpoint] ?? (0, 0)
                shards[index].documents = share.documents
                shards[index].documentMemory = documentMemory * share.documents
                shards[index].indexMemory = share.index
            } else if shards[index].endpoint == endpoint {
                // Every document and the index sit on the master of the `{m}` slot.
                shards[index].documents = files
                shards[index].documentMemory = documentMemory * files
                shards[index].indexMemory = indexMemory
            }
        }
        var stats = StoreStats(
            files: files, bytes: bytes, serverMemory: shards.reduce(0) { $0 + $1.memory }, endpoint: endpoint,
            index: layout.indexName, isCluster: client.isCluster, shards: shards)
        stats.indexMemory = indexMemory
        stats.indexFailures = indexFailures
        stats.metadataPerFile = files > 0 ? documentMemory + indexMemory / files : 0
        return stats
    }

    /// The index's memory, the mean memory of a document (MEMORY USAGE of up to 500 of
    /// them, named by the index: a SCAN for them would walk every chunk key too), and the
    /// index's failures to read a document.
    func metadataMemory(_ connection: RedisConnection) throws -> (index: Int, document: Int, failures: Int) {
        let info = try connection.call("FT.INFO", layout.indexName).pairs ?? []
        let megabytes = info.first { $0.name == "total_index_memory_sz_mb" }?.value.string.flatMap(Double.init) ?? 0
        let failures =
            info.first { $0.name == "hash_indexing_failures" }.flatMap {
                $0.value.integer.map(Int.init) ?? $0.value.string.flatMap { Int($0) }
            } ?? 0
        let found = try connection.call(
            "FT.SEARCH", layout.indexName, "*", "NOCONTENT", "LIMIT", "0", "500", "DIALECT", "2")
        let sample = try SearchPage(found, returning: false).documents.map(\.key)
        let sizes = try connection.pipeline(sample.map { RedisCommand("MEMORY", "USAGE", $0, "SAMPLES", "0") })
        let total = sizes.reduce(0) { $0 + Int($1.integer ?? 0) }
        return (Int(megabytes * 1_048_576), sample.isEmpty ? 0 : total / sample.count, failures)
    }

    /// `fields`: the schema, with each field's most common values when there is data.
    func fields(_ plan: FieldsPlan, hasIndex: Bool, context: StatementContext) throws -> [FieldSummary] {
        try plan.fields.map { field, command in
            let examples = try command.flatMap { hasIndex ? $0 : nil }.map {
                try values(of: field, reply: runner.query($0, context: context))
            }
            return FieldSummary(
                name: field.name, type: field.valueDescription, operators: field.operators, summary: field.summary,
                examples: examples ?? [])
        }
    }

    /// Distinct values of `field` as stored, the most common first or in value order; empty
    /// values left out, dates shown as dates. A field the index cannot group gives none.
    func storedValues(of field: Field, mostCommonFirst: Bool, max: Int) throws -> [String] {
        let command = compiler.storedValuesCommand(field, mostCommonFirst: mostCommonFirst, max: max)
        guard let reply = try? runner.query(command, context: StatementContext()) else { return [] }
        return try values(of: field, reply: reply)
    }

    private func values(of field: Field, reply: RedisReply) throws -> [String] {
        try AggregateRows(reply).rows.compactMap { row in
            guard let value = row[field.attribute], !value.isEmpty else { return nil }
            return Executor.display(field, [field.attribute: value]) ?? value
        }
    }
}
