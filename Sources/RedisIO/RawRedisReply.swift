import CHiredis

/// A reply still inside hiredis's memory, for reading large values without copying them.
///
/// Valid only inside the closure given to ``RedisConnection/withNextReply(_:)``; never store it.
public struct RawRedisReply {
    public enum Kind: Sendable, Equatable {
        case status, error, integer, bulk, array, null
    }

    let pointer: UnsafePointer<redisReply>

    init(_ pointer: UnsafePointer<redisReply>) {
        self.pointer = pointer
    }

    public var kind: Kind {
        switch pointer.pointee.type {
        case REDIS_REPLY_STRING: .bulk
        case REDIS_REPLY_ARRAY: .array
        case REDIS_REPLY_INTEGER: .integer
        case REDIS_REPLY_STATUS: .status
        case REDIS_REPLY_ERROR: .error
        default: .null
        }
    }

    /// The bytes of a bulk, status or error reply (empty for other kinds).
    public var bytes: UnsafeRawBufferPointer {
        switch kind {
        case .bulk, .status, .error:
            guard let start = pointer.pointee.str else { return UnsafeRawBufferPointer(start: nil, count: 0) }
            return UnsafeRawBufferPointer(start: start, count: pointer.pointee.len)
        default:
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
    }

    public var integer: Int64 { kind == .integer ? pointer.pointee.integer : 0 }

    /// The number of elements of an array reply.
    public var count: Int { kind == .array ? pointer.pointee.elements : 0 }

    /// Element `index` of an array reply; `index` must be below ``count``.
    public subscript(index: Int) -> RawRedisReply {
        precondition(index >= 0 && index < count, "reply element \(index) out of range 0..<\(count)")
        guard let element = pointer.pointee.element[index] else {
            preconditionFailure("hiredis returned a null array element")
        }
        return RawRedisReply(element)
    }

    /// A copy of the reply as Swift values.
    public var materialized: RedisReply {
        switch kind {
        case .status: .status(String(decoding: bytes, as: UTF8.self))
        case .error: .error(String(decoding: bytes, as: UTF8.self))
        case .integer: .integer(integer)
        case .bulk: .bulk(Array(bytes))
        case .null: .null
        case .array: .array((0..<count).map { self[$0].materialized })
        }
    }
}
