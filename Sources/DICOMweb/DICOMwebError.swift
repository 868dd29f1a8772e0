import Foundation
import HTTPTypes
import Hummingbird

/// A request the server cannot answer as asked, as PS3.18 status codes: 400 for a bad query or
/// body, 404 for what is not stored, 406 for a representation it cannot give (it never
/// transcodes), 409 for a store that conflicts, 413 for a body too large, 415 for a body it
/// does not read. The body is JSON saying what and where.
public struct DICOMwebError: Error, Sendable, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// The id of the stored file found damaged, when that is the error: what the server has
    /// cached from it (its header, its metadata) is dropped, so a repaired file is read again.
    public var damagedFile: String? = nil

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func badRequest(_ message: String) -> DICOMwebError { DICOMwebError(.badRequest, message) }
    public static func notFound(_ message: String) -> DICOMwebError { DICOMwebError(.notFound, message) }
    public static func notAcceptable(_ message: String) -> DICOMwebError { DICOMwebError(.notAcceptable, message) }

    public var description: String { "\(status.code) \(status.reasonPhrase): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let object: [String: Any] = ["status": status.code, "error": status.reasonPhrase, "message": message]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json", .contentLength: String(data.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
