#include "gdcm_decode.h"

#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmPhotometricInterpretation.h>
#include <gdcmPixelFormat.h>
#include <gdcmTrace.h>

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
        std::istringstream stream(std::string(reinterpret_cast<const char *>(file), length));
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
