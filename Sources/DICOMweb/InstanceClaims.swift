import Foundation

/// The SOP Instance UIDs this server's STOW-RS requests are storing now. A request claims all
/// of its instances' UIDs at once (waiting while another request holds any of them), looks up
/// which are stored already, loads, and lets go: so two clients that send other bytes under one
/// UID at the same moment store it once, the first kept, as when they send one after the
/// other. (Before, both looked, found nothing, and both were stored.) Claims are this process's
/// only: another `dql serve` or a `dql load` beside it is not held back.
final class InstanceClaims: @unchecked Sendable {
    private let condition = NSCondition()
    private var claimed = Set<String>()

    /// Runs `body` once none of `uids` is claimed by another request, holding them all.
    func whileHolding<Result>(_ uids: Set<String>, _ body: () throws -> Result) rethrows -> Result {
        condition.lock()
        while !claimed.isDisjoint(with: uids) { condition.wait() }
        claimed.formUnion(uids)
        condition.unlock()
        defer {
            condition.lock()
            claimed.subtract(uids)
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}
