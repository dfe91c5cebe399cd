"""protoc plugin generating Tally's Swift message types, Swift service code and Python stubs.

Reads a CodeGeneratorRequest on stdin and writes a CodeGeneratorResponse on stdout. Output
paths are relative to the repository root (run with `--tally_out=<repository root>`).
"""

import sys

from google.protobuf.compiler import plugin_pb2

from model import Index
from python_stubs import python_outputs
from swift_messages import swift_message_outputs
from swift_services import swift_service_outputs


def main():
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse()
    try:
        index = Index(request.proto_file)
        files = [index.files[name] for name in sorted(request.file_to_generate)]
        outputs = {}
        outputs.update(swift_message_outputs(index, files))
        outputs.update(swift_service_outputs(index, files))
        outputs.update(python_outputs(index, files))
        for name in sorted(outputs):
            out = response.file.add()
            out.name = name
            out.content = outputs[name]
    except Exception as error:  # reported through protoc
        import traceback
        response.error = "protoc-gen-tally: %s\n%s" % (error, traceback.format_exc())
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
