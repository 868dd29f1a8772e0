import RedisIO

/// Finding things on a store spread over a cluster's masters, where a document's key depends
/// on its study: the buckets to ask, and the keys of files known by id alone.
extension StorageLayout {
    /// The buckets of a spread store, each with its index on the master of its slot.
    func spreadShards(_ client: RedisClient) throws -> [SearchCoordinator.Shard] {
        try (0..<Self.spreadBuckets).map { bucket in
            let index = spreadIndexName(bucket: bucket)
            let pool = try client.pool(forKey: index)
            return SearchCoordinator.Shard(pool: pool, index: index, endpoint: pool.configuration.url.endpoint)
        }
    }

    /// The indexes a query asks: every bucket's, and while a `migrate` runs the `{m}` index
    /// too (the documents not yet moved).
    func searchShards(_ client: RedisClient) throws -> [SearchCoordinator.Shard] {
        var shards = try spreadShards(client)
        if placement == .migrating {
            let pool = try client.pool(forKey: metadataRoutingKey)
            shards.append(
                SearchCoordinator.Shard(pool: pool, index: singleIndexName, endpoint: pool.configuration.url.endpoint))
        }
        return shards
    }

    /// The document keys of files known by id only, by id (ids without a document are left out):
    /// on a spread (or migrating) store they are searched for by id in every index, 200 ids a query;
    /// otherwise they follow from the ids.
    public func documentKeys(ids: [String], client: RedisClient) throws -> [String: String] {
        guard placement.usesBuckets else {
            return Dictionary(ids.map { ($0, documentKey(id: $0)) }, uniquingKeysWith: { first, _ in first })
        }
        guard let idField = Schema.field(named: "id") else { return [:] }
        var keys: [String: String] = [:]
        let runner = SearchRunner(client: client, layout: self)
        for batch in ids.chunked(LevelPlan.keysPerCommand) {
            var builder = QueryBuilder()
            let query = SearchQuery(
                text: LevelPlan.keyMatch(idField, Array(batch), &builder), parameters: builder.parameters)
            let command =
                ["FT.SEARCH", indexName] + query.queryArguments + ["NOCONTENT", "LIMIT", "0", String(batch.count)]
                + query.paramsArguments + ["DIALECT", "2"]
            let reply = try runner.coordinate(command)
            for item in (reply.array ?? []).dropFirst() {
                if let key = item.string, let id = self.id(fromDocumentKey: key) { keys[id] = key }
            }
        }
        return keys
    }
}
