#include "gdcm_decode.h"

#include <gdcmAttribute.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmPhotometricInterpretation.h>
#include <gdcmPixelFormat.h>
#include <gdcmReader.h>
#include <gdcmTrace.h>
#include <gdcmWriter.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <sstream>
#include <string>

namespace {
void say(char *error, size_t size, const std::string &message) {
    if (size == 0) return;
    std::strncpy(error, message.c_str(), size - 1);
    error[size - 1] = 0;
}

std::once_flag gdcmTraceOff;

const gdcm::Tag numberOfFrames(0x0028, 0x0008);

/// RT Dose is a multi-frame image: GDCM reads its Number of Frames unconditionally and aborts
/// (an assertion) when a single-frame dose leaves it out, as pydicom's rtdose_rle_1frame.dcm
/// does. Such a file is given Number of Frames 1 (what its absence means); any other file is
/// returned as it is, without being parsed (the SOP Class UID sits in the file meta
/// information, near the start).
std::string withFrameCountIfRTDose(const std::string &bytes) {
    static const std::string rtDose = "1.2.840.10008.5.1.4.1.1.481.2";
    const std::string head = bytes.substr(0, 4096);
    size_t at = head.find(rtDose);
    while (at != std::string::npos) {
        const size_t end = at + rtDose.size();
        if (end >= head.size() || (head[end] != '.' && (head[end] < '0' || head[end] > '9'))) break;
        at = head.find(rtDose, at + 1);
    }
    if (at == std::string::npos) return bytes;
    gdcm::Reader reader;
    std::istringstream in(bytes);
    reader.SetStream(in);
    if (!reader.Read() || reader.GetFile().GetDataSet().FindDataElement(numberOfFrames)) return bytes;
    gdcm::Attribute<0x0028, 0x0008> frames = {1};
    reader.GetFile().GetDataSet().Insert(frames.GetAsDataElement());
    gdcm::Writer writer;
    std::ostringstream out;
    writer.SetStream(out);
    writer.SetFile(reader.GetFile());
    return writer.Write() ? out.str() : bytes;
}
}  // namespace

extern "C" int dql_gdcm_decode(const uint8_t *file, size_t length, size_t max_length, dql_gdcm_image *image,
                               char *error, size_t error_size) {
    // GDCM writes its warnings to stderr; dql says what went wrong itself.
    std::call_once(gdcmTraceOff, [] {
        gdcm::Trace::SetWarning(false);
        gdcm::Trace::SetError(false);
        gdcm::Trace::SetDebug(false);
    });
    std::memset(image, 0, sizeof(*image));
    try {
        std::istringstream stream(withFrameCountIfRTDose(std::string(reinterpret_cast<const char *>(file), length)));
        gdcm::ImageReader reader;
        reader.SetStream(stream);
        if (!reader.Read()) {
            say(error, error_size, "GDCM cannot read the file as an image");
            return 1;
        }
        const gdcm::Image &decoded = reader.GetImage();
        const unsigned long needed = decoded.GetBufferLength();
        if (needed == 0) {
            say(error, error_size, "GDCM cannot make an image of the pixel data (its header and data disagree)");
            return 2;
        }
        if (needed > max_length) {
            say(error, error_size,
                "GDCM would decode " + std::to_string(needed) + " bytes of pixels, more than the header allows (" +
                    std::to_string(max_length) + ")");
            return 2;
        }
        uint8_t *pixels = static_cast<uint8_t *>(std::malloc(needed));
        if (pixels == nullptr) {
            say(error, error_size, "no memory for " + std::to_string(needed) + " bytes of pixels");
            return 3;
        }
        if (!decoded.GetBuffer(reinterpret_cast<char *>(pixels))) {
            std::free(pixels);
            say(error, error_size, "GDCM cannot decode the pixel data (damaged or unsupported)");
            return 4;
        }
        const unsigned int *dimensions = decoded.GetDimensions();
        const gdcm::PixelFormat &format = decoded.GetPixelFormat();
        image->columns = dimensions[0];
        image->rows = dimensions[1];
        image->frames = decoded.GetNumberOfDimensions() > 2 ? dimensions[2] : 1;
        image->samples_per_pixel = format.GetSamplesPerPixel();
        image->bits_allocated = format.GetBitsAllocated();
        image->bits_stored = format.GetBitsStored();
        image->pixel_representation = format.GetPixelRepresentation();
        image->planar_configuration = decoded.GetPlanarConfiguration();
        const char *photometric = gdcm::PhotometricInterpretation::GetPIString(decoded.GetPhotometricInterpretation());
        std::strncpy(image->photometric, photometric ? photometric : "", sizeof(image->photometric) - 1);
        image->pixels = pixels;
        image->length = needed;
        return 0;
    } catch (const std::exception &exception) {
        say(error, error_size,
            std::string("GDCM could not decode the pixel data (its header and data disagree; GDCM said: ") +
                exception.what() + ")");
        return 5;
    } catch (...) {
        say(error, error_size, "GDCM failed");
        return 5;
    }
}

extern "C" void dql_gdcm_free(dql_gdcm_image *image) {
    std::free(image->pixels);
    image->pixels = nullptr;
}
