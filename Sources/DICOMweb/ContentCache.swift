import Foundation

/// Values computed from stored files, kept by the file's id. An id is the SHA-256 of the
/// file's bytes, so a value cached under it never goes stale: whatever is stored under that
/// id has that header, that metadata. Bounded by a total cost; the oldest entries go first.
final class ContentCache<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: (value: Value, cost: Int)] = [:]
    private var order: [String] = []
    private var start = 0
    private var total = 0
    let capacity: Int
    private let cost: @Sendable (Value) -> Int

    init(capacity: Int, cost: @escaping @Sendable (Value) -> Int = { _ in 1 }) {
        self.capacity = capacity
        self.cost = cost
    }

    func value(_ key: String) -> Value? { lock.withLock { values[key]?.value } }

    /// Drops the values whose keys `matches` says (the file they came from was found damaged).
    func remove(where matches: (String) -> Bool) {
        lock.withLock {
            for key in values.keys where matches(key) {
                if let removed = values.removeValue(forKey: key) { total -= removed.cost }
            }
        }
    }

    func values(_ keys: [String]) -> [Value?] { lock.withLock { keys.map { values[$0]?.value } } }

    func store(_ entries: [(key: String, value: Value)]) {
        lock.withLock {
            for (key, value) in entries where values[key] == nil {
                let cost = self.cost(value)
                values[key] = (value, cost)
                order.append(key)
                total += cost
            }
            while total > capacity, start < order.count {
                if let removed = values.removeValue(forKey: order[start]) { total -= removed.cost }
                start += 1
            }
            if start > 1024 && start > order.count / 2 {
                order.removeFirst(start)
                start = 0
            }
        }
    }
}
