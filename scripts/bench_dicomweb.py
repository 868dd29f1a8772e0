#!/usr/bin/env python3
"""Times DICOMweb endpoints on two servers side by side (dql serve and Orthanc), for
`dql-bench dicomweb`. Each round asks both servers the same request, alternating which goes
first, over one kept-alive connection each (http.client: little client overhead), reading the
whole body.

Usage:
  bench_dicomweb.py time DQL_URL ORTHANC_URL ROUNDS SPEC.json
      SPEC: {"requests": [{"name": …, "path": …, "accept": …, "rounds": N?}, …]}
      prints {"name": {"dql": [seconds…], "orthanc": [seconds…], "bytes": {"dql": B, "orthanc": B}}}
  bench_dicomweb.py spec SERIES_DIR QIDO_DIR
      prints the SPEC of the endpoints measured, from the UIDs of the two generated archives
  bench_dicomweb.py ingest URL DIRECTORY MODE [BATCH]
      MODE rest: one POST /instances per file (Orthanc's REST ingest); stow: POST /studies with
      BATCH files a request. Prints {"seconds": S, "files": N}
"""
import http.client
import json
import os
import sys
import time
import urllib.parse


class Connection:
    def __init__(self, url):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port, self.root = parsed.hostname, parsed.port, parsed.path.rstrip("/")
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
        self.reconnects = 0

    def get(self, path, accept):
        headers = {"Accept": accept} if accept else {}
        try:
            self.connection.request("GET", self.root + path, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the kept-alive connection between requests: open another.
            self.reconnects += 1
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
            self.connection.request("GET", self.root + path, headers=headers)
            response = self.connection.getresponse()
        size = 0
        while True:
            data = response.read(1 << 20)
            if not data:
                break
            size += len(data)
        if response.status != 200:
            raise SystemExit(f"GET {self.root + path}: {response.status}")
        return size

    def post(self, path, body, content_type):
        self.connection.request("POST", self.root + path, body=body, headers={"Content-Type": content_type})
        response = self.connection.getresponse()
        text = response.read()
        if response.status not in (200, 202):
            raise SystemExit(f"POST {self.root + path}: {response.status} {text[:300]}")
        return text


def time_requests(dql_url, orthanc_url, rounds, spec):
    servers = {"dql": Connection(dql_url), "orthanc": Connection(orthanc_url)}
    results = {}
    for request in spec["requests"]:
        entry = {"dql": [], "orthanc": [], "bytes": {}}
        count = request.get("rounds", rounds)
        for name, server in servers.items():  # warm both once
            entry["bytes"][name] = server.get(request["path"], request.get("accept"))
        for index in range(count):
            order = ["dql", "orthanc"] if index % 2 == 0 else ["orthanc", "dql"]
            for name in order:
                started = time.perf_counter()
                servers[name].get(request["path"], request.get("accept"))
                entry[name].append(time.perf_counter() - started)
        results[request["name"]] = entry
    results["reconnects"] = {name: server.reconnects for name, server in servers.items()}
    print(json.dumps(results))


def ingest(url, directory, mode, batch):
    paths = sorted(os.path.join(root, name) for root, _, names in os.walk(directory) for name in names
                   if name.endswith(".dcm"))
    connection = Connection(url)
    started = time.perf_counter()
    if mode == "rest":
        rest = url.rsplit("/dicom-web", 1)[0]
        connection = Connection(rest)
        for path in paths:
            with open(path, "rb") as handle:
                connection.post("/instances", handle.read(), "application/dicom")
    else:
        boundary = "dqlbenchboundary"
        for start in range(0, len(paths), batch):
            parts = []
            for path in paths[start:start + batch]:
                with open(path, "rb") as handle:
                    parts.append(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n"
                                 + handle.read() + b"\r\n")
            body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
            connection.post("/studies", body, f'multipart/related; type="application/dicom"; boundary={boundary}')
    print(json.dumps({"seconds": time.perf_counter() - started, "files": len(paths)}))


def spec(series_directory, qido_directory):
    import pydicom

    def first(directory, last=False):
        walked = sorted(os.walk(directory), reverse=last)
        for root, _, names in walked:
            for name in sorted(names):
                if name.endswith(".dcm"):
                    return pydicom.dcmread(os.path.join(root, name), stop_before_pixels=True)
        raise SystemExit(f"no DICOM file under {directory}")
    # The small archive's last patient: its Patient ID is not the big series' (both archives
    # number their patients from P000000).
    big, small = first(series_directory), first(qido_directory, last=True)
    dates = sorted({pydicom.dcmread(os.path.join(root, name), stop_before_pixels=True).StudyDate
                    for root, _, names in os.walk(qido_directory) for name in names if name.endswith(".dcm")})
    series = f"/studies/{big.StudyInstanceUID}/series/{big.SeriesInstanceUID}"
    instance = f"{series}/instances/{big.SOPInstanceUID}"
    json_type = "application/dicom+json"
    dicom = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    print(json.dumps({"requests": [
        {"name": "/metadata of a 500-instance series", "path": f"{series}/metadata", "accept": json_type,
         "rounds": 20, "goal": 5},
        {"name": "retrieve of that series (66 MB)", "path": series, "accept": dicom, "rounds": 10, "goal": 3},
        {"name": "/instances of that series", "path": f"{series}/instances", "accept": json_type, "rounds": 20,
         "goal": 2},
        {"name": "/studies?PatientID=…", "path": f"/studies?PatientID={small.PatientID}", "accept": json_type,
         "goal": 2},
        {"name": "/studies?StudyDate=A-B", "path": f"/studies?StudyDate={dates[0]}-{dates[len(dates) // 3]}",
         "accept": json_type, "goal": 2},
        {"name": "/studies/{s}/series", "path": f"/studies/{small.StudyInstanceUID}/series", "accept": json_type,
         "goal": 2},
        {"name": "retrieve of one instance", "path": instance, "accept": dicom, "goal": 2},
        {"name": "/frames/1", "path": f"{instance}/frames/1",
         "accept": 'multipart/related; type="application/octet-stream"; transfer-syntax=*', "goal": 2},
    ]}))


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "time":
        with open(sys.argv[5]) as handle:
            time_requests(sys.argv[2], sys.argv[3], int(sys.argv[4]), json.load(handle))
    elif len(sys.argv) == 4 and sys.argv[1] == "spec":
        spec(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == "ingest":
        ingest(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 50)
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
